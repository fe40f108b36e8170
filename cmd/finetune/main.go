// Command finetune is the native CLI over the same packages the browser runs: extract features
// from a folder of images, train a head, evaluate it, predict.
//
//	finetune extract -backbone public/models/centernet -o feats.npy -labels labels.txt photos/
//	finetune train   -features feats.npy -labels labels.txt -o head.safetensors
//	finetune eval    -head head.safetensors -features feats.npy -labels labels.txt
//	finetune predict -head head.safetensors -features feats.npy
//	finetune export  -format tfjs -head head.safetensors -backbone public/models/centernet -o model/
//	finetune export  -format onnx -head head.safetensors -backbone public/models/centernet -o model.onnx
//
// Each subcommand lives in its own file and registers itself in init.
package main

import (
	"fmt"
	"os"
	"sort"
)

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary, run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: finetune COMMAND [flags]  (finetune COMMAND -h for its flags)")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "help" || os.Args[1] == "--help" {
		usage()
		os.Exit(2)
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "finetune: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "finetune %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
