package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/schollz/progressbar/v3"

	"finetuner/backbone"
	"finetuner/imagefile"
)

func init() {
	register("extract", "image folder (one subfolder per class) → features .npy + labels", runExtract)
}

const extractHelp = `usage: finetune extract [flags] DIR

Computes the backbone's feature vector of every image under DIR, where each subfolder of DIR is one
class (images may sit deeper inside it; files and folders whose names start with "." are ignored):

  DIR/cat/001.jpg, DIR/cat/002.png, DIR/dog/a.webp, ...

Outputs:
  -o FILE       features, a NumPy .npy array of float32, shape (rows, dim), one row per image
                (one per view with -augment: the plain view, then its mirror, then the crops),
                in the order: classes by name, files by path within each.
  -labels FILE  the class of each row: a UTF-8 text file with exactly one line per row of the .npy,
                in the same order, holding the subfolder name (e.g. "cat"); nothing else.
  -files FILE   optional: the source file of each row, one path per line, same order.

Images: JPEG (EXIF orientation applied), PNG, GIF (first frame), WebP, BMP. Files that are not
images, or are corrupt, are listed at the end and skipped; they never stop the run.

Flags:
`

func runExtract(args []string) error {
	fl := flag.NewFlagSet("extract", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), extractHelp)
		fl.PrintDefaults()
	}
	model := fl.String("backbone", "centernet", "backbone: a directory with model.json + weights, or the id of one in public/models (./build.sh models)")
	out := fl.String("o", "features.npy", "output features (.npy, float32, rows × dim)")
	labels := fl.String("labels", "labels.txt", "output labels, one class name per line, one line per row")
	files := fl.String("files", "", "optional output: source file of each row, one per line")
	augment := fl.String("augment", "", "extra rows per image: \"flip\" (mirror image), \"crops\" (four 80% corner crops and an 80% centre crop), or \"flip,crops\"")
	pad := fl.Bool("pad", false, "fit the whole image with white borders instead of cropping its centred square")
	jobs := fl.Int("j", runtime.NumCPU(), "images processed in parallel")
	quiet := fl.Bool("q", false, "no progress bar")
	headFile := fl.String("head", "", "optional: a head fine-tuned with its backbone's last blocks (train -finetune-blocks); its layers replace the backbone's")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errors.New("want exactly one image folder")
	}
	if *jobs < 1 {
		return fmt.Errorf("-j %d: want at least 1", *jobs)
	}

	var flip, crops bool
	for _, a := range strings.Split(*augment, ",") {
		switch strings.TrimSpace(a) {
		case "":
		case "flip":
			flip = true
		case "crops":
			crops = true
		default:
			return fmt.Errorf("-augment %q: want flip, crops or flip,crops", *augment)
		}
	}
	items, classes, err := listImages(fl.Arg(0))
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("%s: no files in class subfolders (want DIR/<class>/<image>)", fl.Arg(0))
	}
	dir := *model
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil && !strings.ContainsRune(dir, os.PathSeparator) {
		dir = filepath.Join("public", "models", dir)
	}
	m, err := backbone.Load(os.DirFS(filepath.Dir(dir)), filepath.Base(dir))
	if err != nil {
		if infos, merr := backbone.ReadManifest(os.DirFS(filepath.Dir(dir))); merr == nil {
			var ids []string
			for _, in := range infos {
				ids = append(ids, in.ID)
			}
			return fmt.Errorf("%v (backbones in %s: %s)", err, filepath.Dir(dir), strings.Join(ids, ", "))
		}
		return err
	}
	if *headFile != "" {
		if m, err = withHeadLayers(m, *headFile); err != nil {
			return err
		}
	}
	views := backbone.Augmentations(flip, crops)
	for i := range views {
		views[i].Pad = *pad
	}
	info := m.Info()
	fmt.Fprintf(os.Stderr, "%s: %d files in %d classes, %s (%d-d), %d view(s) per image\n",
		fl.Arg(0), len(items), len(classes), info.Name, m.Dim(), len(views))

	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions(len(items),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("extract"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}

	// Workers each own a Model clone (buffers are per model); results land at their item's index so
	// the output order does not depend on scheduling.
	feats := make([][][]float32, len(items))
	errs := make([]error, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < min(*jobs, len(items)); w++ {
		mw := m
		if w > 0 {
			mw = m.Clone()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				feats[i], errs[i] = extractOne(mw, items[i].path, views)
				if bar != nil {
					bar.Add(1)
				}
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if bar != nil {
		bar.Finish()
	}

	var rows [][]float32
	var lab, src strings.Builder
	var skipped []string
	for i, it := range items {
		if errs[i] != nil {
			skipped = append(skipped, fmt.Sprintf("  %s: %v", it.path, errs[i]))
			continue
		}
		for _, f := range feats[i] {
			rows = append(rows, f)
			lab.WriteString(it.class + "\n")
			src.WriteString(it.path + "\n")
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "skipped %d of %d files:\n%s\n", len(skipped), len(items), strings.Join(skipped, "\n"))
	}
	if len(rows) == 0 {
		return errors.New("no image could be read; nothing written")
	}
	if err := writeNpy(*out, rows); err != nil {
		return err
	}
	if err := os.WriteFile(*labels, []byte(lab.String()), 0o644); err != nil {
		return err
	}
	if *files != "" {
		if err := os.WriteFile(*files, []byte(src.String()), 0o644); err != nil {
			return err
		}
	}
	done := len(items) - len(skipped)
	fmt.Fprintf(os.Stderr, "%d images → %d rows × %d in %s (%s), labels in %s; %.1f images/s with %d worker(s)\n",
		done, len(rows), m.Dim(), *out, humanBytes(int64(len(rows)*m.Dim()*4)), *labels,
		float64(len(items))/elapsed.Seconds(), min(*jobs, len(items)))
	return nil
}

type imageItem struct{ path, class string }

// listImages returns every file under each class subfolder of dir, classes sorted by name and
// files by path, and the class names.
func listImages(dir string) ([]imageItem, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var items []imageItem
	var classes []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		class := e.Name()
		if strings.ContainsAny(class, "\n\r") {
			return nil, nil, fmt.Errorf("class folder name %q contains a line break", class)
		}
		classes = append(classes, class)
		var paths []string
		err := filepath.WalkDir(filepath.Join(dir, class), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != filepath.Join(dir, class) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(paths)
		for _, p := range paths {
			items = append(items, imageItem{p, class})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].class < items[j].class })
	sort.Strings(classes)
	return items, classes, nil
}

func extractOne(m *backbone.Model, path string, views []backbone.View) ([][]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rgba, w, h, err := imagefile.Decode(data)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(views))
	for i, v := range views {
		out[i] = make([]float32, m.Dim())
		if err := m.FeaturesView(out[i], rgba, w, h, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func writeNpy(path string, rows [][]float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := npy.Write(bw, rows); err != nil {
		f.Close()
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
