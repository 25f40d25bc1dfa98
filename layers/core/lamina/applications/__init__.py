"""The prompt registry: applications (artifact → variant → revision), environments and deployments."""
