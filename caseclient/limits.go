package caseclient

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/caseflow/caseflow/care"
)

// Input limits. Every staff record travels to Temporal as an update
// argument and stays in the case's workflow state (carried across continue
// as new) and history, so it is refused here, before it reaches Temporal,
// with the field and the limit named. docs/cli.md lists the limits.
const (
	// MaxTextBytes bounds one text field (notes, reasons, descriptions).
	MaxTextBytes = 8 << 10
	// MaxArgumentBytes bounds a whole staff record or case input, as JSON.
	// Temporal refuses payloads above 2 MB and warns above 256 KB.
	MaxArgumentBytes = 256 << 10
)

// CheckSize refuses an argument with a text field longer than MaxTextBytes
// or that is larger than MaxArgumentBytes as JSON. The error is
// care.KindInvalid and names the JSON field (e.g. "notes" or
// "goals[2].description").
func CheckSize(arg any) error {
	if err := checkText("", reflect.ValueOf(arg)); err != nil {
		return err
	}
	b, err := json.Marshal(arg)
	if err != nil {
		return care.Errorf(care.KindInvalid, "cannot encode the input: %v", err)
	}
	if len(b) > MaxArgumentBytes {
		return care.Invalidf("input", "is %s as JSON; the limit is %s: shorten the notes or split the record", FormatBytes(len(b)), FormatBytes(MaxArgumentBytes))
	}
	return nil
}

func checkText(path string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkText(path, v.Elem())
	case reflect.String:
		if n := v.Len(); n > MaxTextBytes {
			return care.Invalidf(orInput(path), "is %s; the limit is %s per text field: shorten it, or keep the document in your records system and refer to it", FormatBytes(n), FormatBytes(MaxTextBytes))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkText(fmt.Sprintf("%s[%d]", path, i), v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := checkText(join(path, fmt.Sprint(iter.Key().Interface())), iter.Value()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				name = path // embedded: its fields are the parent's
			case name == "":
				name = join(path, f.Name)
			default:
				name = join(path, name)
			}
			if err := checkText(name, v.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" || name == path {
		return name
	}
	return path + "." + name
}

func orInput(path string) string {
	if path == "" {
		return "input"
	}
	return path
}

// FormatBytes writes a size as people read it: "512 bytes", "8 KiB",
// "5.0 MiB".
func FormatBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		if k := fmt.Sprintf("%.1f KiB", float64(n)/(1<<10)); !strings.HasSuffix(k, ".0 KiB") {
			return k
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
