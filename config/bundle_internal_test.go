package config

import (
	"reflect"
	"testing"
)

// fill sets every field of the struct v points to a non-zero value, and
// each slice to one element so filled.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			fill(t, s.Index(0))
			f.Set(s)
		default:
			t.Fatalf("fill: field %s of kind %s: teach this test", v.Type().Field(i).Name, f.Kind())
		}
	}
}

// TestBundleSettingsComplete: every queue setting survives the bundle's
// spelling and back, so a setting added to QueueSettings but not to
// BundleQueueSettings fails here rather than vanishing on export.
func TestBundleSettingsComplete(t *testing.T) {
	t.Parallel()
	var q QueueSettings
	fill(t, reflect.ValueOf(&q).Elem())
	if got := bundleSettings(q).settings(); !reflect.DeepEqual(got, q) {
		t.Fatalf("lost on the way:\n got %+v\nwant %+v", got, q)
	}
	if n, m := reflect.TypeOf(q).NumField(), reflect.TypeOf(BundleQueueSettings{}).NumField(); n != m {
		t.Fatalf("QueueSettings has %d fields, BundleQueueSettings %d", n, m)
	}
}
