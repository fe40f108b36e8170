//go:build js && wasm

package chart

import (
	"reflect"
	"strings"
	"syscall/js"
	"testing"
)

// TestMessageFromJS decodes messages both ways, the plot's (JSON.parse, then MessageFromJS) and
// the tests' (encoding/json with Message's tags): the results must be equal, and where
// encoding/json refuses a message for a wrongly typed field, so must MessageFromJS.
func TestMessageFromJS(t *testing.T) {
	parse := js.Global().Get("JSON").Get("parse")
	for _, text := range []string{
		`{"type":"reset","labels":["birds","fruit"],"epochs":50}`,
		`{"type":"event","event":{"kind":"epoch","epoch":3,"epochs":50,"hasVal":true,"trainLoss":0.5,"trainAcc":0.75,"valLoss":0.61,"valAcc":0.7,"lr":0.001,"samplesPerSec":1234.5}}`,
		`{"type":"events","events":[{"kind":"step","step":1,"steps":20,"trainLoss":2.3},{"kind":"trial","epoch":7,"lambda":1e-3,"hasVal":false},null]}`,
		`{"type":"report","labels":["a","b"],"confusion":[[3,1],[0,4]],"perClass":[{"precision":1,"recall":0.75,"accuracy":0.75,"support":4},{}],"valAcc":0.875}`,
		`{"type":"options","logScale":true,"smooth":0.6,"view":"eval"}`,
		`{"type":"options","lang":"ja","theme":"dark","strings":{"lossTitle":"損失","accTitle":"精度"}}`,
		`{"type":"options","logScale":null,"smooth":null,"lang":null,"strings":null,"extra":[1,2]}`,
		`{"type":"options","strings":{}}`,
		`{}`,
	} {
		want, err := ParseMessage([]byte(text))
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", text, err)
		}
		got, err := MessageFromJS(parse.Invoke(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", text, got, want)
		}
	}
	for _, tc := range []struct{ text, field string }{
		{`{"type":3}`, "type"},
		{`{"type":"reset","labels":"a,b"}`, "labels"},
		{`{"type":"reset","labels":["a",2]}`, "labels[1]"},
		{`{"type":"reset","epochs":"50"}`, "epochs"},
		{`{"type":"reset","epochs":2.5}`, "epochs"},
		{`{"type":"event","event":[1]}`, "event"},
		{`{"type":"events","events":{"kind":"step"}}`, "events"},
		{`{"type":"events","events":[{"hasVal":1}]}`, "hasVal"},
		{`{"type":"report","confusion":[[1,"x"]]}`, "confusion[0][1]"},
		{`{"type":"report","perClass":[3]}`, "perClass[0]"},
		{`{"type":"options","logScale":"yes"}`, "logScale"},
		{`{"type":"options","smooth":"0.5"}`, "smooth"},
		{`{"type":"options","strings":{"lossTitle":5}}`, "lossTitle"},
		{`{"type":"options","strings":["x"]}`, "strings"},
	} {
		if _, err := ParseMessage([]byte(tc.text)); err == nil {
			t.Fatalf("%s: encoding/json accepts it; the case proves nothing", tc.text)
		}
		_, err := MessageFromJS(parse.Invoke(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want one naming %s", tc.text, err, tc.field)
		}
	}
	for _, text := range []string{`[1,2]`, `"text"`, `3`, `null`} {
		if _, err := MessageFromJS(parse.Invoke(text)); err == nil {
			t.Errorf("%s: accepted as a message", text)
		}
	}
}
