package featio

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

func TestNPYRoundTrip(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, float32(math.Pi)}
	var b bytes.Buffer
	if err := WriteNPY(&b, x, 2, 3); err != nil {
		t.Fatal(err)
	}
	if b.Len()%16 != 0 && (b.Len()-24)%64 != 0 {
		t.Logf("size %d", b.Len())
	}
	got, n, d, err := ReadNPY(bytes.NewReader(b.Bytes()))
	if err != nil || n != 2 || d != 3 || got[5] != x[5] {
		t.Fatalf("read back %v %d×%d %v", got, n, d, err)
	}
	// The header must be one npyio itself accepts and a multiple of 64 bytes (NEP 1).
	r, err := npy.NewReader(bytes.NewReader(b.Bytes()))
	if err != nil || len(r.Header.Descr.Shape) != 2 {
		t.Fatalf("npyio reads header %v, %v", r, err)
	}
	if hl := int(b.Bytes()[8]) | int(b.Bytes()[9])<<8; (10+hl)%64 != 0 {
		t.Fatalf("header block of %d bytes is not 64-aligned", 10+hl)
	}
}

func TestNPYNestedSlicesFromNpyio(t *testing.T) {
	// What `finetune extract` writes: npyio's own encoding of [][]float32.
	var b bytes.Buffer
	if err := npy.Write(&b, [][]float32{{1, 2}, {3, 4}, {5, 6}}); err != nil {
		t.Fatal(err)
	}
	x, n, d, err := ReadNPY(&b)
	if err != nil || n != 3 || d != 2 || x[3] != 4 {
		t.Fatalf("%v %d×%d %v", x, n, d, err)
	}
}

func TestNPYErrors(t *testing.T) {
	var b bytes.Buffer
	npy.Write(&b, []int32{1, 2, 3})
	i32 := b.Bytes()
	var b2 bytes.Buffer
	WriteNPY(&b2, make([]float32, 12), 3, 4)
	full := b2.Bytes()
	var b3 bytes.Buffer
	npy.Write(&b3, []float32{1, 2, 3})
	oneD := b3.Bytes()
	for want, in := range map[string][]byte{
		"not a NumPy":      []byte("P5\n hello"),
		"2-D":              oneD,
		"truncated":        full[:len(full)-5],
		"dtype":            i32,
		"not a NumPy .npy": nil,
	} {
		_, _, _, err := ReadNPY(bytes.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, x []float32, n, d int, labels string) (string, string) {
		fp, lp := filepath.Join(dir, name+".npy"), filepath.Join(dir, name+".txt")
		var b bytes.Buffer
		WriteNPY(&b, x, n, d)
		os.WriteFile(fp, b.Bytes(), 0o644)
		os.WriteFile(lp, []byte(labels), 0o644)
		return fp, lp
	}
	fp, lp := write("ok", []float32{1, 2, 3, 4, 5, 6}, 3, 2, "dog\r\ncat\ndog\n")
	ds, err := Load(fp, lp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ds.Labels, ",") != "cat,dog" || ds.Y[0] != 1 || ds.Y[1] != 0 || ds.D != 2 {
		t.Fatalf("%+v", ds)
	}
	fp, lp = write("short", []float32{1, 2, 3, 4}, 2, 2, "dog\ncat\ndog\n")
	if _, err := Load(fp, lp); err == nil || !strings.Contains(err.Error(), "must match one to one") {
		t.Fatal(err)
	}
	fp, lp = write("nan", []float32{1, float32(math.NaN()), 3, 4}, 2, 2, "dog\ncat\n")
	if _, err := Load(fp, lp); err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Fatal(err)
	}
	fp, lp = write("blank", []float32{1, 2, 3, 4}, 2, 2, "dog\n\n")
	if _, err := Load(fp, lp); err == nil || !strings.Contains(err.Error(), "line 2 is empty") {
		t.Fatal(err)
	}
	if _, err := Index([]string{"cat", "cow"}, []string{"cat", "dog"}); err == nil || !strings.Contains(err.Error(), `"cow"`) {
		t.Fatal(err)
	}
}
