# SimCC-ResNet-50 without deconv on MPII (16 keypoints), 256x256: the MPII teacher.
# Model, data and PCKh evaluation are in ../../../_base_/rtmpose_mpii_256x256.py.
_base_ = ['../../../_base_/rtmpose_mpii_256x256.py']
