/// Placeholder: being written.
module Reconstruct.Torch.Checkpoint
