"""Top-down whole-body inference: detectors (ONNX or mmdet), batched pose (ONNX or mmpose), writers, drawing.

Importing this package (and running it with ONNX models) needs only numpy, opencv, onnxruntime and tqdm;
torch and the mm* packages are imported only for a config + checkpoint model.

Example::

    import cv2
    from dwpose.inference.detectors import load_detector
    from dwpose.inference.pipeline import TopDownPipeline
    from dwpose.inference.pose_models import load_pose_model

    pipe = TopDownPipeline(load_pose_model(["dw-ll_ucoco_384.onnx"]), load_detector(["yolox_l.onnx"]))
    result = pipe(cv2.imread("photo.jpg"))  # BGR uint8 (H, W, 3) in
    result.keypoints, result.scores         # (N, 133, 2) image pixels, (N, 133)

Modules: ``geometry`` (box -> crop affine), ``simcc`` (decoding), ``formats`` (COCO-133 -> OpenPose-18,
Cog / OpenPose / COCO records), ``detectors`` (person detectors: ONNX, mmdet), ``boxes`` (user boxes),
``pose_protocol`` (the ``PoseModel`` interface), ``pose_models`` / ``torch_pose`` (ONNX / mmpose pose
models), ``pipeline``, ``writers``, ``draw``, ``sources`` (inputs), ``predict_io`` (what ``dwpose
predict`` reads and writes) and ``cli`` (``dwpose predict``).
"""
