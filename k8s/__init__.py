"""The Kubernetes manifests, and `k8s.render`, which writes their generated part."""
