package chart

import (
	"math"
	"strings"
	"testing"
)

func TestPanels(t *testing.T) {
	body := Rect{10, 50, 800, 400}
	kinds := func(ps []Panel) string {
		var k []string
		for _, p := range ps {
			k = append(k, p.Kind)
		}
		return strings.Join(k, ",")
	}
	for _, tc := range []struct {
		big  bool
		view string
		want string
	}{
		{false, "curves", "loss,acc"},
		{false, "eval", "confusion,perClass"},
		{true, "curves", "loss,acc,confusion,perClass"},
		{true, "eval", "loss,acc,confusion,perClass"},
	} {
		ps := Panels(body, 12, tc.big, tc.view)
		if got := kinds(ps); got != tc.want {
			t.Errorf("big=%v view=%s: panels %s, want %s", tc.big, tc.view, got, tc.want)
		}
		// Every panel lies inside the body and none overlaps another.
		for i, p := range ps {
			if p.R.X < body.X || p.R.Y < body.Y || p.R.X+p.R.W > body.X+body.W+1e-9 || p.R.Y+p.R.H > body.Y+body.H+1e-9 || p.R.W <= 0 || p.R.H <= 0 {
				t.Errorf("%s %+v is not inside the body %+v", p.Kind, p.R, body)
			}
			for _, q := range ps[i+1:] {
				if p.R.X < q.R.X+q.R.W && q.R.X < p.R.X+p.R.W && p.R.Y < q.R.Y+q.R.H && q.R.Y < p.R.Y+p.R.H {
					t.Errorf("%s %+v overlaps %s %+v", p.Kind, p.R, q.Kind, q.R)
				}
			}
		}
	}
	// A wide body puts the two panels side by side, a tall one stacks them, gap apart.
	if ps := Panels(body, 12, false, "curves"); ps[0].R.Y != ps[1].R.Y || ps[1].R.X-(ps[0].R.X+ps[0].R.W) != 12 {
		t.Errorf("wide body: %+v", ps)
	}
	if ps := Panels(Rect{0, 0, 300, 600}, 12, false, "curves"); ps[0].R.X != ps[1].R.X || ps[1].R.Y-(ps[0].R.Y+ps[0].R.H) != 12 {
		t.Errorf("tall body: %+v", ps)
	}
	if !Big(1800, 1200, 2) || Big(1700, 1200, 2) || Big(1000, 500, 1) {
		t.Error("Big disagrees with 900×520 CSS pixels")
	}
}

func TestShownViewAndStatus(t *testing.T) {
	s := NewState()
	if s.ShownView() != "curves" || s.Status() != "waiting for training" {
		t.Errorf("empty: view %q status %q", s.ShownView(), s.Status())
	}
	apply(t, s, `{"type":"reset","labels":["a","b"],"epochs":20}`,
		`{"type":"events","events":[{"kind":"step","step":1,"steps":40,"epochs":20,"trainLoss":0.6931}]}`)
	if got := s.Status(); got != "loss 0.693" {
		t.Errorf("after a step: %q", got)
	}
	apply(t, s, `{"type":"events","events":[{"kind":"epoch","epoch":3,"epochs":20,"trainLoss":0.5,"hasVal":true,"valLoss":0.61,"valAcc":0.875}]}`)
	if got, want := s.Status(), "epoch 3/20 · val loss 0.610 · val acc 87.5%"; got != want {
		t.Errorf("after an epoch: %q, want %q", got, want)
	}
	apply(t, s, `{"type":"events","events":[{"kind":"done"}]}`,
		`{"type":"report","labels":["a","b"],"confusion":[[3,1],[0,4]],"valAcc":0.875}`)
	if s.ShownView() != "eval" || !strings.HasSuffix(s.Status(), " · done") {
		t.Errorf("done with a report: view %q status %q", s.ShownView(), s.Status())
	}
	s.View = "curves"
	if s.ShownView() != "curves" {
		t.Error("a chosen view is not kept")
	}
	s.XLabel = "iteration"
	if s.XName() != "iteration" || !strings.HasPrefix(s.Status(), "iteration 3") {
		t.Errorf("probe: x name %q status %q", s.XName(), s.Status())
	}
}

func apply(t *testing.T, s *State, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := Apply(s, []byte(m)); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
}

func TestAxesAndMaps(t *testing.T) {
	ticks, lo, hi := YAxis(true, false, []float64{0.3, 0.9})
	if lo != 0 || hi != 1 || len(ticks) != 5 || TickLabel(ticks[1], true) != "25%" {
		t.Errorf("unit axis: %v [%v, %v]", ticks, lo, hi)
	}
	ticks, lo, hi = YAxis(false, false, []float64{0.2, 2.3})
	if lo != 0 || hi < 2.3 || ticks[0] != 0 || ticks[len(ticks)-1] != hi {
		t.Errorf("linear axis from 0: %v [%v, %v]", ticks, lo, hi)
	}
	if _, lo, hi = YAxis(false, true, []float64{0.02, 3}); lo > 0.02 || hi < 3 {
		t.Errorf("log axis [%v, %v] does not hold 0.02..3", lo, hi)
	}
	if _, lo, hi = YAxis(false, false); lo != 0 || hi <= 0 {
		t.Errorf("no data: [%v, %v]", lo, hi)
	}
	plot := Rect{100, 50, 400, 200}
	tx, ty := XMap(plot, 20), YMap(plot, 0, 2, false)
	if tx(0) != 100 || tx(20) != 500 || ty(0) != 250 || ty(2) != 50 || ty(1) != 150 {
		t.Errorf("linear maps: x %v..%v, y %v %v %v", tx(0), tx(20), ty(0), ty(1), ty(2))
	}
	ly := YMap(plot, 0.01, 1, true)
	if math.Abs(ly(0.1)-150) > 1e-9 || ly(0.001) != 250 || math.Abs(ly(1)-50) > 1e-9 {
		t.Errorf("log map: %v %v %v", ly(0.1), ly(0.001), ly(1))
	}
	if got := RowShares([]int{1, 3, 0}); got[0] != 0.25 || got[1] != 0.75 || got[2] != 0 {
		t.Errorf("row shares %v", got)
	}
	if got := RowShares([]int{0, 0}); got[0] != 0 || got[1] != 0 {
		t.Errorf("empty row shares %v", got)
	}
}
