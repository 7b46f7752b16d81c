module Reconstruct.Tests.MemoryTests

// Placeholder: being written.
