"""amodal.models"""
