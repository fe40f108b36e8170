package modelexport

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strings"
)

// Zip packs an export's files into one .zip, model.json first: stored, not deflated (the weights
// hardly compress), dated 2026-01-01 so the same export gives the same bytes. It writes the
// format itself rather than through archive/zip, which with compress/flate would add about
// 56 kB (brotli) to the page's trainer wasm.
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
	const dosDate = (2026-1980)<<9 | 1<<5 | 1 // 2026-01-01, time 00:00
	le16 := binary.LittleEndian.AppendUint16
	le32 := binary.LittleEndian.AppendUint32
	var out, dir []byte
	for _, n := range names {
		b := files[n]
		if len(b) >= math.MaxUint32 || len(out) >= math.MaxUint32 || len(n) > math.MaxUint16 {
			return nil, fmt.Errorf("export: %s is too large for a zip file without zip64", n)
		}
		crc, size, offset := crc32.ChecksumIEEE(b), uint32(len(b)), uint32(len(out))
		// Local file header: version 2.0, no flags, method 0 (stored).
		out = le32(out, 0x04034b50)
		out = le16(le16(le16(le16(le16(out, 20), 0), 0), 0), dosDate)
		out = le32(le32(le32(out, crc), size), size)
		out = le16(le16(out, uint16(len(n))), 0)
		out = append(append(out, n...), b...)
		// Its central directory entry.
		dir = le32(dir, 0x02014b50)
		dir = le16(le16(le16(le16(le16(le16(dir, 20), 20), 0), 0), 0), dosDate)
		dir = le32(le32(le32(dir, crc), size), size)
		dir = le16(le16(le16(le16(le16(dir, uint16(len(n))), 0), 0), 0), 0)
		dir = le32(le32(dir, 0), offset)
		dir = append(dir, n...)
	}
	if len(out)+len(dir) >= math.MaxUint32 || len(names) > math.MaxUint16 {
		return nil, fmt.Errorf("export: too large for a zip file without zip64")
	}
	end := le32(nil, 0x06054b50)
	end = le16(le16(le16(le16(end, 0), 0), uint16(len(names))), uint16(len(names)))
	end = le16(le32(le32(end, uint32(len(dir))), uint32(len(out))), 0)
	return append(append(out, dir...), end...), nil
}
