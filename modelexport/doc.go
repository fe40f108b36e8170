// Package modelexport writes a trained head together with its backbone as one model that other
// tools load as it is: image in, class probabilities out.
//
// The exported network is
//
//	image (N,S,S,3) RGB 0..255 → input range → backbone, pruned to the tap → spatial mean
//	(unless the tap is pooled already) → (x − mean)/std → head layers (ReLU or tanh-GELU
//	between them) → softmax → probabilities (N,C)
//
// S is the backbone's input size (224 for both shipped backbones). The caller resizes the image
// to S×S: the app and the CLI crop the centred square and resize it with an area filter
// (backbone.Preprocess), and any bilinear resize of the same square comes close. Values are the
// plain 0..255 pixel values as float32; the mapping onto the backbone's own input range is
// inside the model.
//
// TFJS writes a TF.js graph model (model.json, the backbone's weight file unchanged, and
// head.bin with the head's float32 weights) that tf.loadGraphModel loads. The labels, the
// backbone and the input layout are in model.json's userDefinedMetadata.
package modelexport
