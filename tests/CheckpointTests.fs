module Reconstruct.Tests.CheckpointTests

// Placeholder: being written.
