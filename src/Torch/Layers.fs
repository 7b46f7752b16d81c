/// Placeholder: being written.
module Reconstruct.Torch.Layers
