/// Placeholder: being written.
module Reconstruct.Torch.Functional
