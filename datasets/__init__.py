"""Files on disk: MNIST's IDX .gz files (mnist_files) and a learner's CSV of 2-D points (points_csv)."""
