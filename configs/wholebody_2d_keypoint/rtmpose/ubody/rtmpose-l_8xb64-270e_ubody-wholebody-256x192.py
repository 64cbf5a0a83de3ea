# Test RTMPose-l / DWPose-l (256x192) on UBody val (the videos of splits/intra_scene_test_list.npy),
# with ground-truth boxes, one table row for all scenes and one per scene.
#
#   python tools/test.py \
#       configs/wholebody_2d_keypoint/rtmpose/ubody/rtmpose-l_8xb64-270e_ubody-wholebody-256x192.py CKPT
#   one scene:       ... --cfg-options test_dataloader.dataset.scenes=Fitness
#   several scenes:  ... --cfg-options "test_dataloader.dataset.scenes=[Fitness,Speech]"
#   every 10th image (quicker):  ... --cfg-options test_dataloader.dataset.sample_interval=10
#
# The metric scores only the images the data set gives (seen_images_only), so the scene filter and
# sample_interval need no second setting. UBody must be prepared first (data/README.md):
# video2image.py, then tools/dataset_converters/ubody_split.py (it writes
# UBody/annotations/val_annotations.json).
# The model, the training data and the COCO-WholeBody validation come from the training config.
_base_ = ['./rtmpose-l_8xb64-270e_coco-ubody-wholebody-256x192.py']

data_root = 'data/'  # holds coco/ and UBody/, as in the training config
ubody_val_ann = 'UBody/annotations/val_annotations.json'
test_scenes = None  # None: all 15 scenes; or a name / list of names of UBODY_SCENES

test_dataloader = dict(
    _delete_=True,
    batch_size=32, num_workers=10, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type='UBodyWholeBodyDataset', data_root=data_root, data_mode='topdown',
        ann_file=ubody_val_ann, data_prefix=dict(img='UBody/images/'), scenes=test_scenes,
        test_mode=True, pipeline={{_base_.val_pipeline}}))
test_evaluator = dict(
    _delete_=True,
    type='WholeBodyTableMetric', ann_file=data_root + ubody_val_ann,
    scene_from_path=True, seen_images_only=True)
