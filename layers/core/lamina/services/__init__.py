"""The Services API (ServicesFunction): playground completion and chat through litellm."""
