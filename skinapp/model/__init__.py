"""The benign/malignant classifier: data, model, training, evaluation, calibration, risk grade."""
