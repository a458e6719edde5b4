package sunlamp

// Page is a cursor request: at most one of After and Before (record ids), and a size.
type Page struct {
	After  string
	Before string
	Size   int
}

// Page sizes of the spec.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Cursor is what a list returns besides its items: whether more records exist in the direction being
// paged, and the ids to pass as page[after] / page[before] (empty when there is no page that way).
type Cursor struct {
	HasMore bool
	After   string
	Before  string
}
