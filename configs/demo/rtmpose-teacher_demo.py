# Demo teacher: RTMPose-t-sized CSPNeXt (deepen 0.33, widen 0.375) at 128x96, trained longer than
# the student so that it has something to teach.
_base_ = ['../_base_/rtmpose_demo_128x96.py']

max_epochs = 40
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# the wider, deeper teacher trains best at half the student's rate (after 32 epochs: Whole AP 0.122
# at 5e-4, 0.073 at 1e-3); 40 epochs make it clearly stronger than the student (0.247)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.375),
    head=dict(in_channels=384))
