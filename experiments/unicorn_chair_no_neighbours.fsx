// Ablation of unicorn_chair: no neighbour reconstruction (the swaps never start); everything
// else, the budget included, as unicorn_chair. UNICORN reports that without it the unseen
// side of the object is wrong.
// Run: dotnet fsi build.fsx experiment unicorn_chair_no_neighbours
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_no_neighbours"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Curriculum = { Unicorn.baseline.Method.Curriculum with NeighboursFrom = System.Int32.MaxValue } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
