"""Rules on Kubernetes objects: workloads, the CSI driver's secret volumes and rotation."""
