# Your data set, in one place: the only file to edit (with the metainfo file) for another keypoint set.
# Annotations are COCO keypoint files with K keypoints per instance (e.g. made by
# `python -m dwpose.datasets.part_subset WHOLEBODY_JSON OUT_JSON --part lefthand`).
custom = dict(
    num_keypoints=21,                                           # K
    metainfo='{{fileDirname}}/hand21_metainfo.py',              # K names, links, weights, sigmas
    data_root='data/',
    train_ann='hand21/hand21_train.json', train_img='coco/train2017/',
    val_ann='hand21/hand21_val.json', val_img='coco/val2017/',
)
