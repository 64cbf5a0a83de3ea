# RTMPose-l on body-only COCO (17 keypoints), 256x192, the DWPose recipe: the body teacher.
_base_ = ['../../../_base_/rtmpose_coco_256x192.py']
