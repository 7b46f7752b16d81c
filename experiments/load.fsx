// Loaded by every experiment script: the library as `dotnet fsi build.fsx build` left it (the
// host's output folder holds it with its dependencies and the native kernels).
#r "../Reconstruct.Host/bin/Release/net10.0/Reconstruct.Core.dll"
#r "../Reconstruct.Host/bin/Release/net10.0/FSharp.SystemTextJson.dll"
#r "../Reconstruct.Host/bin/Release/net10.0/Spectre.Console.dll"
