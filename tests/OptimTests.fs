module Reconstruct.Tests.OptimTests

// Placeholder: being written.
