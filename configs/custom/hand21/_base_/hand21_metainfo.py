# Metainfo of a custom keypoint set, in mmpose's format: here one hand, K = 21 keypoints (the
# COCO-WholeBody hand layout). For your own set, list your K keypoints (name, id, colour; `swap`
# names the mirrored keypoint for flip augmentation, '' when there is none; `type` is 'upper' or
# 'lower' for RandomHalfBody, unused here), the links to draw, a loss weight and an OKS sigma each.
_fingers = ['thumb', 'forefinger', 'middle_finger', 'ring_finger', 'pinky_finger']
_names = ['wrist'] + [f'{f}{i}' for f in _fingers for i in range(1, 5)]
_colors = [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]]

dataset_info = dict(
    dataset_name='hand21',
    paper_info=dict(),
    keypoint_info={
        i: dict(name=name, id=i, color=[255, 255, 255] if i == 0 else _colors[(i - 1) // 4],
                type='', swap='')
        for i, name in enumerate(_names)
    },
    skeleton_info={
        4 * f + j: dict(link=(_names[0] if j == 0 else _names[4 * f + j], _names[4 * f + j + 1]),
                        id=4 * f + j, color=_colors[f])
        for f in range(5) for j in range(4)
    },
    joint_weights=[1.] * 21,
    # COCO-WholeBody's hand sigmas (OKS), as mmpose's coco_wholebody_hand metainfo
    sigmas=[0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024, 0.022,
            0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031])
