"""amodal.engine"""
