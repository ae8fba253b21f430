

def preprocess(pixels):
    """uint8 pixels (0-255), shaped as the model's input, to what the model
    takes: scaled to [0, 1], then normalised per channel where MEAN is set."""
    x = torch.as_tensor(pixels, dtype=torch.float32) / 255.0
    if MEAN is not None:
        x = (x - torch.tensor(MEAN).view(1, -1, 1, 1)) / torch.tensor(STD).view(1, -1, 1, 1)
    return x
