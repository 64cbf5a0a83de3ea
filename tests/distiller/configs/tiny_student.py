# The demo student at 64x48, to keep distiller tests fast on 2 CPU cores.
_base_ = ['../../../configs/demo/rtmpose-student_demo.py']

input_size = (48, 64)  # (w, h)
codec = dict(type='SimCCLabel', input_size=input_size, sigma=(1.2, 1.4), simcc_split_ratio=2.0,
             normalize=False, use_dark=False)
model = dict(head=dict(input_size=input_size, in_featuremap_size=(2, 2), decoder=codec))
