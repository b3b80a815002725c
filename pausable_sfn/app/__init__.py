"""PausableStepFunctionStack: the demo app, the first user of `pausable_sfn.constructs`."""
