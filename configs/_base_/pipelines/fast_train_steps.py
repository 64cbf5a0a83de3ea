# The training steps of the full-size recipes that differ from mmpose's, by name. A recipe lists this
# file in its `_base_` and writes its pipelines with `_base_.load_image` etc.; the values here are
# plain data, so the pipeline a config dumps is the one that trains.
#
# Decode and flip: LoadEncodedImage reads only the JPEG header, DeferredRandomFlip notes the flip
# instead of flipping pixels, and DecodeWarpTopdownAffine decodes in the affine step, at 1/2, 1/4 or
# 1/8 size when the crop shrinks the photo that much, with the reduction and the flip folded into its
# one warp (dwpose/datasets/decode_warp.py). Against mmpose's LoadImage + RandomFlip + TopdownAffine:
# same random draws, keypoints and labels; crops differ by interpolation only.
fast_decode_warp = True
load_image = 'LoadEncodedImage'
random_flip = 'DeferredRandomFlip'
topdown_affine = 'DecodeWarpTopdownAffine'

# Training targets: LeanPackPoseInputs packs the keypoints and the recipe's data preprocessor
# (SimCCTargetPreprocessor) makes the SimCC labels of each batch on the model's device; mmpose's way
# is GenerateTarget + PackPoseInputs per sample in the data workers. Same labels.
targets_on_device = True
pack_train_inputs = [dict(type='LeanPackPoseInputs')]

# The recipe with mmpose's own transforms instead: ../rtmpose_coco-ubody-wholebody_256x192_mmpose-steps.py
# (docs/configs.md).
