module Reconstruct.Tests.TensorTests

// Placeholder: being written.
