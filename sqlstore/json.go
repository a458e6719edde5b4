package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/sunlamp/sunlamp"
)

// toJSON encodes v as JSON text for a column; a nil map or slice becomes NULL.
func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case sunlamp.Metadata:
		if x == nil {
			return nil, nil
		}
	case map[string]any:
		if x == nil {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

// fromJSON decodes a JSON text column into dst; NULL leaves dst as it is. Numbers decode as
// json.Number so that integers keep their precision.
func fromJSON(col sql.NullString, dst any) error {
	if !col.Valid || col.String == "" {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader([]byte(col.String)))
	d.UseNumber()
	if err := d.Decode(dst); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}
