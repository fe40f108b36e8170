package main

import (
	"fmt"
	"io"
	"strings"

	"finetuner/head"
)

// printReport prints the summary line, the per-class table and the confusion matrix.
func printReport(w io.Writer, rep *head.Report) {
	if rep.NVal > 0 {
		fmt.Fprintf(w, "train %d rows: loss %.4f acc %.2f%% | val %d rows: loss %.4f acc %.2f%%\n",
			rep.NTrain, rep.TrainLoss, 100*rep.TrainAcc, rep.NVal, rep.ValLoss, 100*rep.ValAcc)
	} else {
		fmt.Fprintf(w, "train %d rows: loss %.4f acc %.2f%% (no validation split)\n", rep.NTrain, rep.TrainLoss, 100*rep.TrainAcc)
	}
	printClassTable(w, rep.PerClass, rep.Confusion, rep.EvalSplit)
}

func printClassTable(w io.Writer, pc []head.ClassMetrics, cm [][]int, split string) {
	width := 5
	for _, c := range pc {
		width = max(width, len(c.Label))
	}
	fmt.Fprintf(w, "\nper class (%s):\n%-*s  %7s  %9s  %6s  %6s\n", split, width, "class", "support", "precision", "recall", "f1")
	for _, c := range pc {
		fmt.Fprintf(w, "%-*s  %7d  %9.3f  %6.3f  %6.3f\n", width, c.Label, c.Support, c.Precision, c.Recall, c.F1)
	}
	if len(cm) > 20 {
		fmt.Fprintf(w, "\n(confusion matrix of %d classes not printed; see -json)\n", len(cm))
		return
	}
	fmt.Fprintf(w, "\nconfusion (rows: true, columns: predicted):\n%-*s", width, "")
	for i := range cm {
		fmt.Fprintf(w, " %5d", i)
	}
	fmt.Fprintln(w)
	for i, row := range cm {
		fmt.Fprintf(w, "%-*s", width, fmt.Sprintf("%d %s", i, truncate(pc[i].Label, width-2)))
		for _, v := range row {
			fmt.Fprintf(w, " %5d", v)
		}
		fmt.Fprintln(w)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimSpace(s[:max(n, 1)])
}
