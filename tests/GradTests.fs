module Reconstruct.Tests.GradTests

// Placeholder: being written.
