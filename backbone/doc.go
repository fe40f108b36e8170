// Package backbone turns images into feature vectors with a frozen, pretrained convolutional
// network: it loads TF.js graph models, compiles the part of the graph from the image input to a
// chosen feature tap, and runs it with the kernels in finetuner/kernels. It is pure Go (no
// syscall/js, no cgo), so the browser's Web Worker (GOOS=js GOARCH=wasm) and the native CLI run
// the same code and get the same numbers.
//
// # Use
//
//	m, err := backbone.Load(os.DirFS("public/models"), "centernet") // or LoadFiles(fetched bytes)
//	feat := make([]float32, m.Dim())
//	err = m.Features(feat, rgba, w, h) // RGBA pixels, e.g. a canvas's ImageData or imagefile.Decode
//
// A Model reuses all its buffers from image to image and is not safe for concurrent use; Clone
// gives another that shares the weights. FeaturesView computes the features of a flipped or cropped
// view (Augmentations lists the ones extraction uses); Preprocess and Forward are the two halves of
// Features.
//
// # Preprocessing
//
// Features takes w×h RGBA bytes, not premultiplied. Transparent pixels are composited onto white,
// the image is cropped to its centred square (View.Pad fits the whole image with white borders
// instead), resized to the model's input size with a triangle filter whose width follows the scale
// (an area average when shrinking, bilinear when enlarging), and mapped linearly from 0..255 onto
// the model's input range. Package imagefile decodes JPEG (with its EXIF orientation), PNG, GIF,
// WebP and BMP files into such bytes in pure Go.
//
// # Models
//
// scripts/models.sh converts the backbones from their npm packages into public/models/<id>/
// (model.json + weights.bin, a TF.js graph model pruned to the tap, whose "finetuner" block is the
// model's Info) and lists them in public/models/manifest.json (ReadManifest), the default first:
//
//   - centernet (default): the MobileNetV3 backbone of MB3-CenterNet from @vladmandic/human@3.3.6,
//     ImageNet-initialised and trained on COCO; input 224×224 in 0..255; tap
//     tower_0/extern1/hard_swish/mul_1 (7×7×480) averaged over space: 480-d.
//   - mobilenetv2: MobileNetV2 1.4 from nsfwjs@4.4.0, fine-tuned on NSFW data, its 5-way head
//     dropped; input 224×224 in 0..1; tap .../feature_vector/SpatialSqueeze: 1792-d.
//
// Any TF.js graph model built from the supported ops loads the same way, given an Info (tap, input
// size and range, pooling) or a "finetuner" block in its model.json. Supported ops: _FusedConv2D
// and Conv2D (NHWC, SAME or VALID, optional BiasAdd and Relu/Relu6), FusedDepthwiseConv2dNative and
// DepthwiseConv2dNative (channel multiplier 1), Add, AddV2, BiasAdd, Sub, Mul (with broadcasting),
// Relu, Relu6, Mean over the spatial axes, AvgPool, Squeeze, Identity, Const, Placeholder. Any
// other op on the path to the tap is refused with an error naming the op and its node. Weights may
// be float32, float16 or affine-quantised uint8/uint16, in any number of shards.
//
// # Gradients
//
// Model.Section(from, to, trainable) is a stretch of the compiled graph (from the input or any
// node, to any node or the tap) that keeps every tensor and runs backward too: to its input (the
// mimicry attack's gradient with respect to the image) and, when trainable, to its own copies of
// the convolutions' weights and folded batch-norm biases (fine-tuning). Blocks and FinetuneCut name
// the inverted-residual blocks and the node below the last N of them; WithWeights returns a Model
// using fine-tuned tensors. Every op the two backbones use has a backward: 1×1 and k×k
// convolutions, depthwise convolutions, ReLU, ReLU6, hard-swish, element-wise add, sub and mul
// with broadcasting (squeeze-excite), spatial mean and average pooling.
//
// At load time the graph is pruned to the tap, constant subexpressions are folded, filters are
// transposed into the layout the kernels read, the hard-swish that TF spells as four ops becomes
// one in-place step, and every intermediate tensor gets a slot in a few buffers that are reused
// once the tensor is dead (PeakBytes reports their total).
package backbone
