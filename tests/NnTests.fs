module Reconstruct.Tests.NnTests

// Placeholder: being written.
