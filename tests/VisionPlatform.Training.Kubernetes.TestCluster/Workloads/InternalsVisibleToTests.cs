using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("VisionPlatform.Training.Kubernetes.TestCluster.Tests")]
