package chart

import (
	"math"
	"testing"
)

func TestApplyHistory(t *testing.T) {
	s := NewState()
	msgs := []string{
		`{"type":"reset","labels":["a","b"],"epochs":3}`,
		`{"type":"events","events":[{"kind":"step","epoch":1,"epochs":3,"step":1,"steps":12,"trainLoss":1.2}]}`,
		`{"type":"events","events":[{"kind":"step","epoch":1,"epochs":3,"step":2,"steps":12,"trainLoss":1.0}]}`,
		`{"type":"events","events":[{"kind":"epoch","epoch":1,"trainLoss":1.1,"hasVal":true,"valLoss":1.3,"valAcc":0.5},
		  {"kind":"epoch","epoch":2,"trainLoss":0.7,"hasVal":true,"valLoss":0.9,"valAcc":0.75}]}`,
		`{"type":"events","events":[{"kind":"done"}]}`,
		`{"type":"report","labels":["a","b"],"confusion":[[3,1],[0,4]],"perClass":[{"accuracy":0.75},{"accuracy":1}],"valAcc":0.875}`,
	}
	for _, m := range msgs {
		if err := Apply(s, []byte(m)); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if s.StepLoss.Len() != 2 || s.StepLoss.X[1] != 0.5 {
		t.Errorf("step series %+v, want 2 points, second at epoch 0.5", s.StepLoss)
	}
	if s.ValAcc.Len() != 2 || s.ValAcc.Y[1] != 0.75 || s.TrainAcc.Len() != 0 {
		t.Errorf("val acc %+v train acc %+v", s.ValAcc, s.TrainAcc)
	}
	if s.XLabel != "epoch" {
		t.Errorf("x label %q", s.XLabel)
	}
	if !s.Done || !s.HasReport || s.Confusion[0][1] != 1 || s.Version != len(msgs) {
		t.Errorf("done=%v report=%v version=%d", s.Done, s.HasReport, s.Version)
	}
	if s.XMax() != 2 {
		t.Errorf("XMax %v, want the last epoch trained (2) once done", s.XMax())
	}
	s.Done = false
	if s.XMax() != 3 {
		t.Errorf("XMax %v, want the planned 3 epochs while training", s.XMax())
	}
	// reset keeps the display options but drops the history
	s.LogScale = true
	if err := Apply(s, []byte(`{"type":"reset","labels":["x","y","z"]}`)); err != nil {
		t.Fatal(err)
	}
	if !s.LogScale || s.StepLoss.Len() != 0 || s.HasReport || len(s.Labels) != 3 {
		t.Errorf("after reset: %+v", s)
	}
}

func TestApplyRejects(t *testing.T) {
	bad := []string{
		`not json`,
		`{"type":"nope"}`,
		`{"type":"event"}`,
		`{"type":"report","labels":["a","b"],"confusion":[[1,2]]}`,
		`{"type":"report","labels":["a","b"],"confusion":[[1,2],[3]]}`,
		`{"type":"report","labels":["a"],"confusion":[[1]],"perClass":[{},{}]}`,
		`{"type":"options","smooth":1.5}`,
	}
	for _, m := range bad {
		s := NewState()
		if err := Apply(s, []byte(m)); err == nil {
			t.Errorf("%s: accepted", m)
		}
	}
}

func TestNaNPointsSkipped(t *testing.T) {
	s := NewState()
	Apply(s, []byte(`{"type":"reset"}`))
	s.add(Event{Kind: "step", Step: 1, Steps: 3, Epochs: 1, TrainLoss: math.NaN()})
	s.add(Event{Kind: "step", Step: 2, Steps: 3, Epochs: 1, TrainLoss: math.Inf(1)})
	s.add(Event{Kind: "step", Step: 3, Steps: 3, Epochs: 1, TrainLoss: 0.5})
	if s.StepLoss.Len() != 1 {
		t.Errorf("NaN/Inf points kept: %+v", s.StepLoss)
	}
}

func TestSmoothed(t *testing.T) {
	got := Smoothed([]float64{2, 2, 2}, 0.9)
	for _, v := range got {
		if math.Abs(v-2) > 1e-12 {
			t.Fatalf("constant input smoothed to %v (debiasing broken)", got)
		}
	}
	got = Smoothed([]float64{0, 1}, 0.5)
	if want := 0.5 / 0.75; math.Abs(got[1]-want) > 1e-12 {
		t.Errorf("got %v want %v", got[1], want)
	}
	if g := Smoothed([]float64{1, 3}, 0); g[1] != 3 {
		t.Errorf("w=0 must be the identity, got %v", g)
	}
}

func TestNiceTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		first  float64
		last   float64
		step   float64
	}{
		{0, 1, 6, 0, 1, 0.2},
		{0.13, 2.71, 5, 0, 3, 1},
		{0.41, 0.97, 5, 0.4, 1, 0.2},
		{1, 50, 6, 0, 50, 10},
	}
	for _, c := range cases {
		ticks, lo, hi := NiceTicks(c.lo, c.hi, c.n)
		if lo != c.first || hi != c.last || math.Abs(ticks[1]-ticks[0]-c.step) > 1e-12 {
			t.Errorf("NiceTicks(%v,%v,%d) = %v [%v,%v]", c.lo, c.hi, c.n, ticks, lo, hi)
		}
		if ticks[0] != lo || ticks[len(ticks)-1] != hi {
			t.Errorf("ticks %v do not span [%v,%v]", ticks, lo, hi)
		}
	}
}

func TestLogTicks(t *testing.T) {
	ticks, lo, hi := LogTicks(0.03, 2.5)
	if lo != 0.01 || hi != 10 {
		t.Errorf("range [%v,%v], want [0.01,10]", lo, hi)
	}
	if ticks[0] != 0.01 || ticks[len(ticks)-1] != 10 {
		t.Errorf("ticks %v", ticks)
	}
	ticks, _, _ = LogTicks(1e-5, 10)
	for _, v := range ticks {
		if l := math.Log10(v); math.Abs(l-math.Round(l)) > 1e-9 {
			t.Errorf("wide range should only tick decades, got %v", ticks)
		}
	}
}

func TestRangeAndFormat(t *testing.T) {
	lo, hi, ok := Range(true, []float64{0, -1, 0.5, 2})
	if !ok || lo != 0.5 || hi != 2 {
		t.Errorf("log range ignores non-positive values: %v %v %v", lo, hi, ok)
	}
	if _, _, ok := Range(false); ok {
		t.Error("empty range reported ok")
	}
	for v, want := range map[float64]string{0: "0", 0.5: "0.5", 0.25: "0.25", 12: "12", 1e-4: "1e-04", 1: "1", 0.1 + 0.2: "0.3"} {
		if got := FormatTick(v); got != want {
			t.Errorf("FormatTick(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestProbeEvents(t *testing.T) {
	s := NewState()
	Apply(s, []byte(`{"type":"reset","labels":["a","b"]}`))
	s.add(Event{Kind: "step", Epoch: 3, Step: 3, TrainLoss: 0.9, Lambda: 0.1})
	s.add(Event{Kind: "trial", Epoch: 5, Lambda: 0.1, HasVal: true, ValLoss: 0.6, ValAcc: 0.8})
	s.add(Event{Kind: "epoch", Epoch: 6, TrainLoss: 0.5})
	if s.XLabel != "iteration" || s.StepLoss.X[0] != 3 || s.ValAcc.Len() != 1 || s.ValAcc.X[0] != 5 {
		t.Errorf("probe events: %+v", s)
	}
	if s.ValLoss.Len() != 1 {
		t.Errorf("an epoch event without hasVal added a validation point: %+v", s.ValLoss)
	}
}
