package api

// routes lists every operation: one line each, handler named handle + the spec's operationId.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)

	// Apps (Account Provisioning)
	s.handle("POST /v2/apps", accountOnly, s.handleCreateApp)
	s.handle("GET /v2/apps", accountOnly, s.handleListApps)
	s.handle("GET /v2/apps/{appId}", appAccess, s.handleGetApp)
	s.handle("PATCH /v2/apps/{appId}", appAccess, s.handleUpdateApp)
	s.handle("DELETE /v2/apps/{appId}", accountApp, s.handleDeleteApp)

	// App Keys (Account Provisioning)
	s.handle("POST /v2/apps/{appId}/keys", accountApp, s.handleCreateAppKey)
	s.handle("GET /v2/apps/{appId}/keys", accountApp, s.handleListAppKeys)
	s.handle("GET /v2/apps/{appId}/keys/{keyId}", accountApp, s.handleGetAppKey)
	s.handle("DELETE /v2/apps/{appId}/keys/{keyId}", accountApp, s.handleDeleteAppKey)

	// Users, Clients, Devices, and the inbound channel simulator (issue 3)
	s.handle("POST /v2/apps/{appId}/users", appOrIntegration, s.handleCreateUser)
	s.handle("GET /v2/apps/{appId}/users", appOrIntegration, s.handleListUsers)
	s.handle("GET /v2/apps/{appId}/users/{userIdOrExternalId}", appOrIntegration, s.handleGetUser)
	s.handle("PATCH /v2/apps/{appId}/users/{userIdOrExternalId}", appOrIntegration, s.handleUpdateUser)
	s.handle("DELETE /v2/apps/{appId}/users/{userIdOrExternalId}", appOrIntegration, s.handleDeleteUser)
	s.handle("DELETE /v2/apps/{appId}/users/{userIdOrExternalId}/personalinformation", appOrIntegration, s.handleDeleteUserPersonalInformation)
	s.handle("POST /v2/apps/{appId}/users/{userIdOrExternalId}/clients", appOrIntegration, s.handleCreateClient)
	s.handle("GET /v2/apps/{appId}/users/{userIdOrExternalId}/clients", appOrIntegration, s.handleListClients)
	s.handle("DELETE /v2/apps/{appId}/users/{userIdOrExternalId}/clients/{clientId}", appOrIntegration, s.handleRemoveClient)
	s.handle("GET /v2/apps/{appId}/users/{userIdOrExternalId}/devices", appOrIntegration, s.handleListDevices)
	s.handle("GET /v2/apps/{appId}/users/{userIdOrExternalId}/devices/{deviceId}", appOrIntegration, s.handleGetDevice)
	s.handle("POST /_sunlamp/v1/apps/{appId}/inbound", appOrIntegration, s.handleInbound)

	// Conversations, Participants, Messages, Activities (issue 4)
	s.handle("POST /v2/apps/{appId}/conversations", appOrIntegration, s.handleCreateConversation)
	s.handle("GET /v2/apps/{appId}/conversations", appOrIntegration, s.handleListConversations)
	s.handle("GET /v2/apps/{appId}/conversations/{conversationId}", appOrIntegration, s.handleGetConversation)
	s.handle("PATCH /v2/apps/{appId}/conversations/{conversationId}", appOrIntegration, s.handleUpdateConversation)
	s.handle("DELETE /v2/apps/{appId}/conversations/{conversationId}", appOrIntegration, s.handleDeleteConversation)
	s.handle("POST /v2/apps/{appId}/conversations/{conversationId}/join", appOrIntegration, s.handleJoinConversation)
	s.handle("GET /v2/apps/{appId}/conversations/{conversationId}/participants", appOrIntegration, s.handleListParticipants)
	s.handle("POST /v2/apps/{appId}/conversations/{conversationId}/leave", appOrIntegration, s.handleLeaveConversation)
	s.handle("POST /v2/apps/{appId}/conversations/{conversationId}/messages", appOrIntegration, s.handlePostMessage)
	s.handle("GET /v2/apps/{appId}/conversations/{conversationId}/messages", appOrIntegration, s.handleListMessages)
	s.handle("DELETE /v2/apps/{appId}/conversations/{conversationId}/messages", appOrIntegration, s.handleDeleteAllMessages)
	s.handle("DELETE /v2/apps/{appId}/conversations/{conversationId}/messages/{messageId}", appOrIntegration, s.handleDeleteMessage)
	s.handle("POST /v2/apps/{appId}/conversations/{conversationId}/activity", appOrIntegration, s.handlePostActivity)

	// Integrations, Custom Integration API Keys, Webhooks (issue 5)

	// Switchboards, Switchboard Integrations, Switchboard Actions (issue 6)

	// Attachments (issue 8)
	s.handleLimited("POST /v2/apps/{appId}/attachments", appOrIntegration, maxUploadBody, s.handleUploadAttachment)
	s.handle("POST /v2/apps/{appId}/attachments/remove", appOrIntegration, s.handleDeleteAttachment)
	// Media URLs are public, like the service's CDN URLs: no authentication.
	s.mux.HandleFunc("GET /attachments/v2/{attachmentId}/{filename}", s.handleGetAttachmentMedia)
}
