//go:build js && wasm

package chart

import (
	"fmt"
	"math"
	"syscall/js"
)

// MessageFromJS reads a message that the browser's JSON.parse made from the page's JSON text
// (reset, report, options; progress events come encoded, see progress.DecodeBytes) into a Message, with the field names and types encoding/json would use for Message's tags
// (keys are matched exactly) and an error naming the field when a value has the wrong type.
func MessageFromJS(v js.Value) (m Message, err error) {
	if v.Type() != js.TypeObject || isArray(v) {
		return m, fmt.Errorf("plot: bad message: not a JSON object")
	}
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(jsFieldError); ok {
				err = fmt.Errorf("plot: bad message: %s", string(e))
				return
			}
			panic(r)
		}
	}()
	m.Type = jsString(v, "type")
	m.Labels = jsStrings(v, "labels")
	m.Epochs = jsInt(v, "epochs")
	if a := jsArray(v, "confusion"); a.Truthy() {
		m.Confusion = make([][]int, a.Length())
		for i := range m.Confusion {
			row := a.Index(i)
			if absent(row) {
				continue
			}
			if !isArray(row) {
				fail(fmt.Sprintf("confusion[%d]", i), "an array")
			}
			m.Confusion[i] = make([]int, row.Length())
			for j := range m.Confusion[i] {
				m.Confusion[i][j] = toInt(row.Index(j), fmt.Sprintf("confusion[%d][%d]", i, j))
			}
		}
	}
	if a := jsArray(v, "perClass"); a.Truthy() {
		m.PerClass = make([]ClassMetric, a.Length())
		for i := range m.PerClass {
			c, at := a.Index(i), fmt.Sprintf("perClass[%d]", i)
			if absent(c) {
				continue
			}
			if c.Type() != js.TypeObject {
				fail(at, "an object")
			}
			m.PerClass[i] = ClassMetric{Precision: jsFloat(c, "precision"), Recall: jsFloat(c, "recall"),
				Accuracy: jsFloat(c, "accuracy"), Support: jsInt(c, "support")}
		}
	}
	m.ValAcc = jsFloat(v, "valAcc")
	if b := v.Get("logScale"); !absent(b) {
		if b.Type() != js.TypeBoolean {
			fail("logScale", "true or false")
		}
		x := b.Bool()
		m.LogScale = &x
	}
	if f := v.Get("smooth"); !absent(f) {
		x := toFloat(f, "smooth")
		m.Smooth = &x
	}
	m.View = jsString(v, "view")
	if f := v.Get("lang"); !absent(f) {
		x := jsString(v, "lang")
		m.Lang = &x
	}
	if f := v.Get("theme"); !absent(f) {
		x := jsString(v, "theme")
		m.Theme = &x
	}
	if o := v.Get("strings"); !absent(o) {
		if o.Type() != js.TypeObject || isArray(o) {
			fail("strings", "an object")
		}
		keys := js.Global().Get("Object").Call("keys", o)
		m.Strings = make(map[string]string, keys.Length())
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			m.Strings[k] = jsString(o, k)
		}
	}
	return m, nil
}

// jsFieldError is the panic value of the readers below, turned into MessageFromJS's error.
type jsFieldError string

func fail(at, want string) { panic(jsFieldError(at + ": want " + want)) }

// absent is a missing key or null: encoding/json leaves the field at its zero value.
func absent(v js.Value) bool { return v.IsUndefined() || v.IsNull() }

func isArray(v js.Value) bool { return js.Global().Get("Array").Call("isArray", v).Bool() }

func jsString(v js.Value, k string) string {
	f := v.Get(k)
	if absent(f) {
		return ""
	}
	if f.Type() != js.TypeString {
		fail(k, "a string")
	}
	return f.String()
}

func jsStrings(v js.Value, k string) []string {
	a := jsArray(v, k)
	if !a.Truthy() {
		return nil
	}
	out := make([]string, a.Length())
	for i := range out {
		e := a.Index(i)
		if absent(e) {
			continue
		}
		if e.Type() != js.TypeString {
			fail(fmt.Sprintf("%s[%d]", k, i), "a string")
		}
		out[i] = e.String()
	}
	return out
}

// jsArray returns the array under k, or a falsy value when the key is absent.
func jsArray(v js.Value, k string) js.Value {
	f := v.Get(k)
	if absent(f) {
		return js.Null()
	}
	if !isArray(f) {
		fail(k, "an array")
	}
	return f
}

func toFloat(f js.Value, at string) float64 {
	if f.Type() != js.TypeNumber {
		fail(at, "a number")
	}
	return f.Float()
}

func toInt(f js.Value, at string) int {
	if absent(f) {
		return 0
	}
	x := toFloat(f, at)
	if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		fail(at, "a whole number")
	}
	return int(x)
}

func jsFloat(v js.Value, k string) float64 {
	f := v.Get(k)
	if absent(f) {
		return 0
	}
	return toFloat(f, k)
}

func jsInt(v js.Value, k string) int { return toInt(v.Get(k), k) }
