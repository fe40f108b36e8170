package modelexport

import (
	"archive/zip"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Zip packs an export's files into one .zip (stored, not deflated: the weights hardly
// compress), model.json first, with a fixed date so the same export gives the same bytes.
func Zip(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == "model.json") != (b == "model.json") {
			if a == "model.json" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, fmt.Errorf("export: zip: %v", err)
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, fmt.Errorf("export: zip: %v", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("export: zip: %v", err)
	}
	return buf.Bytes(), nil
}
