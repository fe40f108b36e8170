package head

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest([]byte(`{"auto":false,"hidden":[100],"activation":"relu","epochs":7,"batchSize":16,
		"lr":0.003,"valFraction":0.2,"seed":4,"patience":10,"backbone":"centernet","tap":"t/mul"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Epochs != 7 || r.BatchSize != 16 || len(r.Hidden) != 1 || r.Hidden[0] != 100 || r.Patience != 10 ||
		r.Backbone != "centernet" || r.Tap != "t/mul" || r.Seed != 4 || r.Auto {
		t.Errorf("parsed %+v", r)
	}
	for in, want := range map[string]string{
		`{"epochs":0.5}`:          "cannot unmarshal",
		`{"epoch":5}`:             `unknown field "epoch"`,
		`{"epochs":-1}`:           "epochs -1",
		`{"hidden":[0]}`:          "hidden",
		`{"valFraction":1}`:       "validation fraction",
		`{"optimizer":"adagrad"}`: "optimizer",
		`not json`:                "training request",
	} {
		_, err := ParseRequest([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", in, err, want)
		}
	}
}
