package head

import (
	"time"
)

// Report is what a training run found.
type Report struct {
	Epochs       int  `json:"epochs"` // epochs run
	BestEpoch    int  `json:"bestEpoch"`
	StoppedEarly bool `json:"stoppedEarly"`
	Cancelled    bool `json:"cancelled"`
	NTrain       int  `json:"nTrain"`
	NVal         int  `json:"nVal"`
	// Lambda is the L2 strength the automatic probe chose (0 for a plain run).
	Lambda    float64 `json:"lambda,omitempty"`
	TrainLoss float64 `json:"trainLoss"`
	TrainAcc  float64 `json:"trainAcc"`
	ValLoss   float64 `json:"valLoss"`
	ValAcc    float64 `json:"valAcc"`
	// PerClass and Confusion are computed on the validation split, or on the training split when
	// there is no validation split (then they say how well the head fits, not how it generalises).
	EvalSplit string         `json:"evalSplit"` // "val" or "train"
	PerClass  []ClassMetrics `json:"perClass"`
	// Confusion[t][p] counts rows of true class t predicted as p.
	Confusion [][]int `json:"confusion"`
	// EvalIndex are the dataset rows that were evaluated, EvalPred their predicted classes.
	EvalIndex []int32 `json:"evalIndex"`
	EvalPred  []int32 `json:"evalPred"`
	ElapsedMs float64 `json:"elapsedMs"`
}

// ClassMetrics are one class's numbers on the evaluated split.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Support   int     `json:"support"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"` // the class's accuracy
	F1        float64 `json:"f1"`
}

// Confusion returns the C×C confusion matrix of true labels y against predictions pred.
func Confusion(y, pred []int32, C int) [][]int {
	cm := make([][]int, C)
	for i := range cm {
		cm[i] = make([]int, C)
	}
	for i, t := range y {
		cm[t][pred[i]]++
	}
	return cm
}

// PerClass derives precision, recall and F1 of each class from a confusion matrix. A class with
// no predictions has precision 0; with no rows, recall 0.
func PerClass(cm [][]int, labels []string) []ClassMetrics {
	C := len(cm)
	out := make([]ClassMetrics, C)
	for c := 0; c < C; c++ {
		var row, col int
		for k := 0; k < C; k++ {
			row += cm[c][k]
			col += cm[k][c]
		}
		tp := cm[c][c]
		m := ClassMetrics{Label: labels[c], Support: row}
		if col > 0 {
			m.Precision = float64(tp) / float64(col)
		}
		if row > 0 {
			m.Recall = float64(tp) / float64(row)
		}
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		out[c] = m
	}
	return out
}

// finish fills the report's final numbers with the restored best weights.
func (tr *trainer) finish(ds *Dataset, val []int32, rep *Report, start time.Time) {
	rep.NTrain, rep.NVal = len(tr.ytr), len(tr.yval)
	rep.TrainLoss, rep.TrainAcc = tr.evaluate(tr.xtr, tr.ytr, nil)
	x, y, idx := tr.xval, tr.yval, val
	rep.EvalSplit = "val"
	if len(y) == 0 {
		train, _ := SplitGroups(ds.Y, ds.Group, len(ds.Labels), tr.cfg.ValFraction, tr.cfg.Seed)
		x, y, idx = tr.xtr, tr.ytr, train
		rep.EvalSplit = "train"
	} else {
		rep.ValLoss, rep.ValAcc = tr.evaluate(tr.xval, tr.yval, nil)
	}
	pred := make([]int32, len(y))
	tr.evaluate(x, y, pred)
	rep.Confusion = Confusion(y, pred, tr.m.C)
	rep.PerClass = PerClass(rep.Confusion, tr.m.Labels)
	rep.EvalIndex, rep.EvalPred = idx, pred
	rep.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
	tr.m.Meta.Metrics = map[string]float64{
		"trainLoss": rep.TrainLoss, "trainAcc": rep.TrainAcc, "valLoss": rep.ValLoss, "valAcc": rep.ValAcc,
		"nTrain": float64(rep.NTrain), "nVal": float64(rep.NVal), "epochs": float64(rep.Epochs),
	}
}
