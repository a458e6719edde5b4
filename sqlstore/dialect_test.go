package sqlstore_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDialectsAreData holds the package to its rule: what differs between the databases is data
// set once (dialect.go), and only the per-dialect files (sqlite*.go, postgres*.go) know which
// database they are on. Outside them no file may name what they declare (their dialect, driver
// code, executors, listeners) or spell a database's name to compare it.
func TestDialectsAreData(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	var names []string
	matches, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range matches {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files, names = append(files, f), append(names, name)
	}
	perDialect := func(name string) bool {
		return strings.HasPrefix(name, "sqlite") || strings.HasPrefix(name, "postgres")
	}
	declared := map[string]string{}
	for i, f := range files {
		if !perDialect(names[i]) {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name != "init" {
					declared[d.Name.Name] = names[i]
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						declared[sp.Name.Name] = names[i]
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							declared[n.Name] = names[i]
						}
					}
				}
			}
		}
	}
	if len(declared) < 5 {
		t.Fatalf("got %d declarations in the per-dialect files, want the dialects' code there", len(declared))
	}
	var found []string
	for i, f := range files {
		if perDialect(names[i]) {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if from, ok := declared[n.Name]; ok {
					found = append(found, fset.Position(n.Pos()).String()+": names "+n.Name+" of "+from)
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					v, _ := strconv.Unquote(n.Value)
					switch strings.ToLower(v) {
					case "sqlite", "sqlite3", "postgres", "postgresql", "pgx":
						found = append(found, fset.Position(n.Pos()).String()+": spells the database "+v)
					}
				}
			}
			return true
		})
	}
	sort.Strings(found)
	for _, f := range found {
		t.Error(f)
	}
}

// TestMigrationsMatch: a migration number means the same change on both databases, so both folders
// hold the same numbers and names.
func TestMigrationsMatch(t *testing.T) {
	list := func(dir string) []string {
		var out []string
		err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sql") {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sqlite, postgres := list("migrations/sqlite"), list("migrations/postgres")
	if strings.Join(sqlite, "\n") != strings.Join(postgres, "\n") {
		t.Errorf("the migration folders differ:\nsqlite:   %v\npostgres: %v", sqlite, postgres)
	}
	if len(sqlite) == 0 {
		t.Error("got no migrations, want some")
	}
}
