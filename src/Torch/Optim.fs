/// Placeholder: being written.
module Reconstruct.Torch.Optim
