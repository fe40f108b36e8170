// Package featio reads and writes feature matrices as NumPy .npy files and their labels as text,
// the interchange format of the CLI: `finetune extract` writes them, `train`, `eval` and `predict`
// read them, and NumPy, PyTorch or scikit-learn users can make or use them directly.
//
// Labels file: UTF-8 text, one class name per line, exactly one line per row of the .npy; a
// trailing newline is optional and CRLF line ends are accepted.
package featio

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"finetuner/head"
)

// ReadNPY reads a 2-D float32 or float64 .npy array (C or Fortran order) as float32 rows.
func ReadNPY(r io.Reader) (x []float32, n, d int, err error) {
	nr, err := npy.NewReader(r)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("not a NumPy .npy file: %v", err)
	}
	dtype := strings.Trim(nr.Header.Descr.Type, "'\"")
	if dtype != "<f4" && dtype != "<f8" {
		return nil, 0, 0, fmt.Errorf("features have dtype %q; use float32 ('<f4') or float64 ('<f8')", dtype)
	}
	shape := nr.Header.Descr.Shape
	if len(shape) != 2 {
		return nil, 0, 0, fmt.Errorf("features must be a 2-D array (rows × dim); this one has shape %v", shape)
	}
	n, d = shape[0], shape[1]
	if n < 0 || d < 1 || n > 1<<26 || d > 1<<20 || int64(n)*int64(d) > 1<<30 {
		return nil, 0, 0, fmt.Errorf("features of shape %v are outside what this tool reads", shape)
	}
	switch dtype {
	case "<f4":
		err = nr.Read(&x)
	default:
		var x64 []float64
		if err = nr.Read(&x64); err == nil {
			x = make([]float32, len(x64))
			for i, v := range x64 {
				x[i] = float32(v)
			}
		}
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("reading the feature values: %v (is the file truncated?)", err)
	}
	if len(x) != n*d {
		return nil, 0, 0, fmt.Errorf("the file holds %d values for shape %v; it is truncated or corrupt", len(x), shape)
	}
	if nr.Header.Descr.Fortran {
		t := make([]float32, len(x))
		for i := 0; i < n; i++ {
			for k := 0; k < d; k++ {
				t[i*d+k] = x[k*n+i]
			}
		}
		x = t
	}
	return x, n, d, nil
}

// WriteNPY writes n rows of d float32 values as a 2-D .npy array.
func WriteNPY(w io.Writer, x []float32, n, d int) error {
	if len(x) != n*d {
		return fmt.Errorf("featio: %d values for %d×%d", len(x), n, d)
	}
	// npy writes a slice as 1-D; the header is written here so the shape is (n, d).
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	pad := 64 - (10+hdr.Len()+1)%64
	hdr.WriteString(strings.Repeat(" ", pad%64))
	hdr.WriteByte('\n')
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	bw.WriteByte(byte(hdr.Len()))
	bw.WriteByte(byte(hdr.Len() >> 8))
	bw.Write(hdr.Bytes())
	var buf [4]byte
	for _, v := range x {
		putF32(buf[:], v)
		bw.Write(buf[:])
	}
	return bw.Flush()
}

// ReadLabels reads one label per line.
func ReadLabels(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("line %d is empty; every row needs a class name", len(out)+1)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Load reads a features file and its labels file into a Dataset whose classes are the distinct
// label names, sorted. It checks that the two files agree and that every value is finite.
func Load(featPath, labelsPath string) (*head.Dataset, error) {
	x, n, d, err := readNPYFile(featPath)
	if err != nil {
		return nil, err
	}
	names, err := readLabelsFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(names) != n {
		return nil, fmt.Errorf("%s has %d rows but %s has %d labels; they must match one to one", featPath, n, labelsPath, len(names))
	}
	classes := map[string]bool{}
	for _, l := range names {
		classes[l] = true
	}
	labels := make([]string, 0, len(classes))
	for l := range classes {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	ds := &head.Dataset{X: x, N: n, D: d, Labels: labels}
	if ds.Y, err = Index(names, labels); err != nil {
		return nil, err
	}
	if err := head.CheckFinite(x, d); err != nil {
		return nil, fmt.Errorf("%s: %v", featPath, err)
	}
	return ds, nil
}

// Index maps label names to their positions in labels; a name not in labels is an error that
// lists the known ones.
func Index(names, labels []string) ([]int32, error) {
	pos := map[string]int32{}
	for i, l := range labels {
		pos[l] = int32(i)
	}
	y := make([]int32, len(names))
	for i, n := range names {
		p, ok := pos[n]
		if !ok {
			return nil, fmt.Errorf("row %d has label %q, which is not one of the classes %s", i, n, strings.Join(labels, ", "))
		}
		y[i] = p
	}
	return y, nil
}

// ReadFeatures reads a .npy features file.
func ReadFeatures(path string) (x []float32, n, d int, err error) { return readNPYFile(path) }

// ReadLabelsFile reads a labels file.
func ReadLabelsFile(path string) ([]string, error) { return readLabelsFile(path) }

func readNPYFile(path string) ([]float32, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	x, n, d, err := ReadNPY(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %v", path, err)
	}
	return x, n, d, nil
}

func readLabelsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadLabels(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return l, nil
}

// LoadGroups reads a files list (one source path per row, as "finetune extract -files" writes)
// and numbers its distinct paths in order of first appearance: the group ids of head.Dataset, so
// that the views of one image stay together. It checks that the list has exactly n lines.
func LoadGroups(path string, n int) ([]int32, error) {
	names, err := readLabelsFile(path)
	if err != nil {
		return nil, err
	}
	if len(names) != n {
		return nil, fmt.Errorf("%s has %d lines for %d feature rows; it must list the source file of every row", path, len(names), n)
	}
	ids := make(map[string]int32, n)
	group := make([]int32, n)
	for i, s := range names {
		g, ok := ids[s]
		if !ok {
			g = int32(len(ids))
			ids[s] = g
		}
		group[i] = g
	}
	return group, nil
}
